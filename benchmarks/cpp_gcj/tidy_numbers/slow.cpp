// Slow: counts down from N until a tidy number (N is up to 10^18 in the large set).
#include <bits/stdc++.h>
using namespace std;
static bool tidy(unsigned long long x) {
    int last = 9;
    for (; x; x /= 10) { int d = x % 10; if (d > last) return false; last = d; }
    return true;
}
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        unsigned long long n; cin >> n;
        while (!tidy(n)) n--;
        cout << "Case #" << c << ": " << n << "\n";
    }
}
