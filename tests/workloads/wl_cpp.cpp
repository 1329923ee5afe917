// wl_cpp.cpp — C++ with namespaces, a class template and a function template, so frames must
// be demangled. Usage: wl_cpp [SECONDS]; prints "sym <demangled name> 0x…" lines and "ready".
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <unistd.h>

static void *matrix_ip, *accum_ip;

static __attribute__((noinline)) void *here()
{
    return __builtin_return_address(0);
}

namespace gpw
{
namespace engine
{
template <typename T> class Matrix
{
  public:
    __attribute__((noinline)) T multiply(int rounds)
    {
        matrix_ip = here();
        volatile T acc = 1;
        for (int i = 0; i < rounds; i++)
            acc = acc * (T)1.0000001 + (T)0.5;
        return acc;
    }
};
template class Matrix<double>;
} // namespace engine

namespace detail
{
template <typename T> __attribute__((noinline)) T accumulate(const T *v, std::size_t n)
{
    accum_ip = here();
    volatile T s = 0;
    for (std::size_t r = 0; r < 2000; r++)
        for (std::size_t i = 0; i < n; i++)
            s = s + v[i];
    return s;
}
template long accumulate<long>(const long *, std::size_t);
} // namespace detail
} // namespace gpw

static double now()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, nullptr, _IOLBF, 0);
    double secs = argc > 1 ? atof(argv[1]) : 5;
    double end = secs <= 0 ? 1e300 : now() + secs;
    printf("pid %d\n", (int)getpid());
    gpw::engine::Matrix<double> m;
    static long v[128];
    for (int i = 0; i < 128; i++)
        v[i] = i;
    m.multiply(1);
    gpw::detail::accumulate<long>(v, 128);
    printf("sym gpw::engine::Matrix<double>::multiply(int) %p\n", matrix_ip);
    printf("sym long gpw::detail::accumulate<long>(long const*, unsigned long) %p\n", accum_ip);
    printf("ready\n");
    fflush(stdout);
    while (now() < end) {
        m.multiply(500000);
        gpw::detail::accumulate<long>(v, 128);
    }
    return 0;
}
