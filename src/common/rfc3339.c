/* chrono's DateTime<Utc>::to_rfc3339(), which nitro-cli uses for BuildTime
 * (aws-nitro-enclaves-image-format src/utils/identity.rs generate_build_info)
 * and to name its error logs: SecondsFormat::AutoSi, so the fraction is as
 * long as the nanoseconds need (none, 3, 6 or 9 digits), and "+00:00". */
#include <stdio.h>
#include <time.h>

#include "carve/util.h"

void rfc3339_chrono(const struct timespec *ts, char *out, size_t len)
{
	struct tm tm;
	time_t secs = ts->tv_sec;
	gmtime_r(&secs, &tm);
	char whole[32], frac[24] = "";
	strftime(whole, sizeof(whole), "%Y-%m-%dT%H:%M:%S", &tm);
	long ns = ts->tv_nsec;
	if (ns % 1000000000 == 0)
		frac[0] = '\0';
	else if (ns % 1000000 == 0)
		snprintf(frac, sizeof(frac), ".%03ld", ns / 1000000);
	else if (ns % 1000 == 0)
		snprintf(frac, sizeof(frac), ".%06ld", ns / 1000);
	else
		snprintf(frac, sizeof(frac), ".%09ld", ns);
	snprintf(out, len, "%s%s+00:00", whole, frac);
}
