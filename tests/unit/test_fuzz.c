/*
 * test_fuzz.c - replays the fuzzers' corpus: every seed and every input a
 * fuzzer once found (fuzz/corpus/<target>/regress-*) goes through its
 * target's checks again, in the ordinary build and under the sanitizers.
 * A check that fails aborts the program with the check's text.
 *
 * The targets are included here with their entry point renamed, so that
 * all four live in one program without libFuzzer.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define LLVMFuzzerTestOneInput fuzz_schema_one
#include "../../fuzz/fuzz_schema.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_text_one
#include "../../fuzz/fuzz_text.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_path_one
#include "../../fuzz/fuzz_path.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_values_one
#include "../../fuzz/fuzz_values.c"
#undef LLVMFuzzerTestOneInput

/* Runs every file of fuzz/corpus/<target> through one; returns how many. */
static int replay(const char *target, int (*one)(const uint8_t *, size_t))
{
	char dir[128], path[512];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "fuzz/corpus/%s", target);
	d = opendir(dir);
	if (!d)
		fail_msg("cannot open %s: %s", dir, strerror(errno));
	while ((e = readdir(d))) {
		unsigned char *buf;
		long len;
		FILE *fp;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fp = fopen(path, "rb");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, 0, SEEK_END), 0);
		len = ftell(fp);
		rewind(fp);
		buf = malloc(len > 0 ? (size_t)len : 1);
		assert_non_null(buf);
		assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
		fclose(fp);
		assert_int_equal(one(buf, (size_t)len), 0);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void schema_corpus(void **state)
{
	(void)state;
	assert_true(replay("schema", fuzz_schema_one) >= 10);
}

static void text_corpus(void **state)
{
	(void)state;
	assert_true(replay("text", fuzz_text_one) >= 16);
}

static void path_corpus(void **state)
{
	(void)state;
	assert_true(replay("path", fuzz_path_one) >= 10);
}

static void values_corpus(void **state)
{
	(void)state;
	assert_true(replay("values", fuzz_values_one) >= 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(schema_corpus),
	    cmocka_unit_test(text_corpus),
	    cmocka_unit_test(path_corpus),
	    cmocka_unit_test(values_corpus),
	};

	return cmocka_run_group_tests_name("fuzz", tests, NULL, NULL);
}
