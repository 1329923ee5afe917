// wl_uw_cpp.cpp — C++ with templates and exceptions, built -O2 -fomit-frame-pointer, with known
// shares of CPU time by construction (every 10 ms of CPU time):
//   main -> uwcpp::run_templates -> uwcpp::Chain<3>::step -> Chain<2> -> Chain<1> -> Chain<0>  60%
//   main -> uwcpp::run_exceptions -> uwcpp::catcher -> uwcpp::thrower<long> -> __cxa_throw ... 40%
// The exception path spends its time in libstdc++ and libgcc_s (Debian's, no frame pointers):
// throwing, unwinding to catcher's landing pad, catching.
// Usage: wl_uw_cpp [SECONDS (0 = until killed)]; prints "pid N", then "ready".
#include <cstdint>
#include <stdexcept>

#include "uw_work.h"
#include "workload.h"

namespace uwcpp
{

constexpr long long MS = 1000000LL;

struct Failure : std::runtime_error {
    uint64_t value;
    explicit Failure(uint64_t v) : std::runtime_error("uwcpp failure"), value(v)
    {
    }
};

// A chain of distinct template instances, each a real frame with its own locals.
template <int N> struct Chain {
    __attribute__((noipa)) static uint64_t step(uint64_t x, long long ns)
    {
        volatile uint64_t keep[N + 1];
        keep[N] = x;
        x = Chain<N - 1>::step(keep[N], ns);
        return x + keep[N];
    }
};

template <> struct Chain<0> {
    __attribute__((noipa)) static uint64_t step(uint64_t x, long long ns)
    {
        UW_BURN(x, ns);
        return x;
    }
};

template <typename T> __attribute__((noipa)) T thrower(T x)
{
    if (x != 0)
        throw Failure(static_cast<uint64_t>(x));
    return x;
}

__attribute__((noipa)) uint64_t catcher(uint64_t x)
{
    try {
        x = static_cast<uint64_t>(thrower<long>(static_cast<long>(x | 1)));
    } catch (const Failure &f) {
        x = f.value * 3 + 1;
    }
    return x;
}

__attribute__((noipa)) uint64_t run_templates(uint64_t x, long long ns)
{
    x = Chain<3>::step(x, ns);
    return x ^ 1;
}

__attribute__((noipa)) uint64_t run_exceptions(uint64_t x, long long ns)
{
    long long end = uw_cpu_ns() + ns;
    do {
        for (int i = 0; i < 16; i++)
            x = catcher(x);
    } while (uw_cpu_ns() < end);
    return x;
}

} // namespace uwcpp

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    uint64_t x = static_cast<uint64_t>(argc);
    wl_ready();
    while (wl_now() < end) {
        x = uwcpp::run_templates(x, 6 * uwcpp::MS);
        x = uwcpp::run_exceptions(x, 4 * uwcpp::MS);
    }
    return static_cast<int>(x & 1);
}
