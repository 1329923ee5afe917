/* wl_shlib.c — almost all time is spent in shlib_hot_spin() inside libwlhot.so.
 * Usage: wl_shlib [SECONDS]; prints "sym shlib_hot_spin 0x…" (address in the library), "ready". */
#include "workload.h"

void shlib_hot_spin(long n);
void *shlib_hot_where(void);

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    shlib_hot_spin(1);
    wl_sym("shlib_hot_spin", shlib_hot_where());
    wl_ready();
    while (wl_now() < end)
        shlib_hot_spin(1000000);
    return 0;
}
