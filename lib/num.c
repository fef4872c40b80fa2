/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <userpool/userpool.h>

#include "num.h"

up_err up_parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
	char *end = NULL;
	long long v;

	if (!s || !ret || !*s)
		return UP_EINVAL;
	/* strtoll accepts leading spaces and '+': a checked parser does not. */
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return UP_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return UP_ERANGE;
	if (errno || end == s || *end != '\0')
		return UP_EINVAL;
	if (v < min || v > max)
		return UP_ERANGE;
	*ret = (int64_t)v;
	return UP_OK;
}

up_err up_parse_duration(const char *s, int64_t *ret)
{
	char num[32];
	size_t len;
	int64_t mult = 1, v;
	up_err r;

	if (!s || !ret)
		return UP_EINVAL;
	len = strlen(s);
	if (len == 0 || len >= sizeof(num))
		return UP_EINVAL;
	memcpy(num, s, len + 1);
	switch (num[len - 1]) {
	case 's':
		mult = 1;
		break;
	case 'm':
		mult = 60;
		break;
	case 'h':
		mult = 3600;
		break;
	case 'd':
		mult = 86400;
		break;
	default:
		mult = 0;
		break;
	}
	if (mult)
		num[--len] = '\0';
	else
		mult = 1;
	if (len == 0 || num[0] == '-')
		return UP_EINVAL;
	r = up_parse_int64(num, 0, INT64_MAX / 86400, &v);
	if (r)
		return r;
	*ret = v * mult;
	return UP_OK;
}
