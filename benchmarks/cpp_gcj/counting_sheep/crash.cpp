// Crash: the number of steps is found by dividing by N, which is 0 for INSOMNIA.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        long long n; cin >> n;
        volatile long long probe = 1000000 / n;  // SIGFPE when n == 0
        (void) probe;
        int seen = 0; long long k = 0;
        while (seen != 1023) {
            k += n;
            for (long long x = k; x; x /= 10) seen |= 1 << (x % 10);
        }
        cout << "Case #" << c << ": " << k << "\n";
    }
}
