// Slow: seats the K people one by one with a priority queue of gaps (K is up to 10^18).
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        long long n, k; cin >> n >> k;
        priority_queue<long long> gaps; gaps.push(n);
        long long hi = 0, lo = 0;
        for (long long i = 0; i < k; i++) {
            long long size = gaps.top(); gaps.pop();
            hi = size / 2; lo = (size - 1) / 2;
            if (hi) gaps.push(hi);
            if (lo) gaps.push(lo);
        }
        cout << "Case #" << c << ": " << hi << " " << lo << "\n";
    }
}
