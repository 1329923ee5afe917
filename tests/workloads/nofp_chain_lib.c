/* nofp_chain_lib.c — the no-frame-pointer shared library of nofp_chain.c: nofp_lib_d calls the
 * hot leaf nofp_lib_hot. */

__attribute__((noinline)) double nofp_lib_hot(double x, int n)
{
    double acc = x;
    for (int i = 0; i < n; i++)
        acc = acc * 1.0000001 + (double)(i & 7) * 0.5;
    return acc;
}

__attribute__((noinline)) double nofp_lib_d(double x, int n)
{
    double r = nofp_lib_hot(x, n);
    return r * 0.5 + x;
}
