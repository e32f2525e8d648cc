// Slow: tries every value upward until its digits in the base spell the pattern.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; cin >> s;
        set<char> symbols(s.begin(), s.end());
        long long base = max<long long>(2, symbols.size());
        for (unsigned long long v = 1;; v++) {
            vector<int> d;
            for (unsigned long long x = v; x; x /= base) d.push_back(x % base);
            if (d.size() != s.size()) continue;
            reverse(d.begin(), d.end());
            map<char, int> a; map<int, char> b; bool ok = true;
            for (size_t i = 0; i < s.size() && ok; i++) {
                if (a.count(s[i]) && a[s[i]] != d[i]) ok = false;
                if (b.count(d[i]) && b[d[i]] != s[i]) ok = false;
                a[s[i]] = d[i]; b[d[i]] = s[i];
            }
            if (ok) { cout << "Case #" << c << ": " << v << "\n"; break; }
        }
    }
}
