// Slow: iterative deepening over every sequence of adjacent swaps.
#include <bits/stdc++.h>
using namespace std;
static long long damage(const string &p) {
    long long beam = 1, total = 0;
    for (char ch : p) { if (ch == 'C') beam *= 2; else total += beam; }
    return total;
}
static bool reach(string &p, long long d, int depth) {
    if (damage(p) <= d) return true;
    if (depth == 0) return false;
    for (size_t i = 0; i + 1 < p.size(); i++) {
        if (p[i] == p[i + 1]) continue;
        swap(p[i], p[i + 1]);
        bool ok = reach(p, d, depth - 1);
        swap(p[i], p[i + 1]);
        if (ok) return true;
    }
    return false;
}
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        long long d; string p; cin >> d >> p;
        long long shots = count(p.begin(), p.end(), 'S');
        cout << "Case #" << c << ": ";
        if (shots > d) { cout << "IMPOSSIBLE\n"; continue; }
        int depth = 0;
        while (!reach(p, d, depth)) depth++;
        cout << depth << "\n";
    }
}
