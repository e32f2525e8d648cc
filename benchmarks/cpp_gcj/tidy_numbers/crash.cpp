// Crash: keeps N in a 32-bit int and looks its digits up in a table that is only allocated for
// numbers that fit; the large set's values (up to 10^18) dereference a null table.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string raw; cin >> raw;
        long long wide = stoll(raw);
        int n = (int) wide;
        volatile int *table = wide == n ? new int[10]() : nullptr;
        for (char ch : raw) table[ch - '0'] += 1;
        string s = to_string(n);
        for (size_t i = s.size() - 1; i > 0; i--)
            if (s[i - 1] > s[i]) { s[i - 1]--; for (size_t j = i; j < s.size(); j++) s[j] = '9'; }
        cout << "Case #" << c << ": " << s.substr(s.find_first_not_of('0')) << "\n";
    }
}
