// Crash: looks for "CS" from one past the end; when there is none, swaps at npos.
#include <bits/stdc++.h>
using namespace std;
static long long damage(const string &p) {
    long long beam = 1, total = 0;
    for (char ch : p) { if (ch == 'C') beam *= 2; else total += beam; }
    return total;
}
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        long long d; string p; cin >> d >> p;
        int swaps = 0;
        while (damage(p) > d) {
            size_t at = p.rfind("CS");
            swap(p.at(at), p.at(at + 1));  // IMPOSSIBLE cases: std::out_of_range, abort
            swaps++;
        }
        cout << "Case #" << c << ": " << swaps << "\n";
    }
}
