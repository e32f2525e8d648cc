// Code Jam 2018 practice "Bathroom Stalls": split gap sizes with their counts, largest first.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        long long n, k; cin >> n >> k;
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
