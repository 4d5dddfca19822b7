/*
 * unit.h - what every cmocka unit test includes. Tests run from the top of
 * the repository, so fixtures are at FIXTURE("name.ini").
 */
#ifndef UNIT_H
#define UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ipmmap.h"

#define FIXTURE(name) ("tests/unit/fixtures/" name)

/* Asserts that haystack contains needle, printing both when it does not. */
#define assert_contains(haystack, needle)                                                  \
	do {                                                                               \
		const char *h_ = (haystack), *n_ = (needle);                               \
		if (!h_ || !strstr(h_, n_))                                                \
			fail_msg("\"%s\" does not contain \"%s\"", h_ ? h_ : "(null)", n_); \
	} while (0)

#endif
