/* error.c - the one way the library leaves a message. See ipmmap_i.h. */
#include "ipmmap_i.h"

#include <stdio.h>

int ipm_verrf(char *err, int code, const char *fmt, va_list ap)
{
	if (err)
		vsnprintf(err, IPM_ERRLEN, fmt, ap);
	return code;
}

int ipm_errf(char *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ipm_verrf(err, code, fmt, ap);
	va_end(ap);
	return code;
}
