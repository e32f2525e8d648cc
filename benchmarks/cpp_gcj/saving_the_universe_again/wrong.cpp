// Wrong: swaps the first "CS" instead of the last (not the one that saves the most).
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
        bool ok = true;
        while (damage(p) > d) {
            size_t at = p.find("CS");
            if (at == string::npos) { ok = false; break; }
            swap(p[at], p[at + 1]);
            swaps++;
        }
        cout << "Case #" << c << ": ";
        if (ok) cout << swaps << "\n"; else cout << "IMPOSSIBLE\n";
    }
}
