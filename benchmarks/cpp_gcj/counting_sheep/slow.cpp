// Slow: no INSOMNIA case: for N = 0 it counts forever.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        long long n; cin >> n;
        int seen = 0; long long k = 0;
        while (seen != 1023) {
            k += n;
            for (long long x = k; x; x /= 10) seen |= 1 << (x % 10);
            if (k == 0) seen |= 1;
        }
        cout << "Case #" << c << ": " << k << "\n";
    }
}
