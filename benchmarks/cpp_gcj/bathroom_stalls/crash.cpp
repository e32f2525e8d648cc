// Crash: right answer, but it first allocates one flag per stall; for the largest set's N (up to
// 10^18) the vector cannot exist (std::length_error, uncaught: abort).
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        long long n, k; cin >> n >> k;
        vector<int> occupied(n + 2);
        occupied[0] = occupied[n + 1] = 1;
        map<long long, long long> gaps{{n, 1}};
        while (true) {
            auto it = prev(gaps.end());
            long long size = it->first, count = it->second;
            gaps.erase(it);
            long long hi = size / 2, lo = (size - 1) / 2;
            if (k <= count) { cout << "Case #" << c << ": " << hi << " " << lo << "\n"; break; }
            k -= count;
            gaps[hi] += count;
            gaps[lo] += count;
        }
    }
}
