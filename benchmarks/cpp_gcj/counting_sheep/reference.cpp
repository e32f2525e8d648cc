// Code Jam 2016 qualification "Counting Sheep": N, 2N, 3N, ... until every digit was seen.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        long long n; cin >> n;
        cout << "Case #" << c << ": ";
        if (n == 0) { cout << "INSOMNIA\n"; continue; }
        int seen = 0; long long k = 0;
        while (seen != 1023) {
            k += n;
            for (long long x = k; x; x /= 10) seen |= 1 << (x % 10);
        }
        cout << k << "\n";
    }
}
