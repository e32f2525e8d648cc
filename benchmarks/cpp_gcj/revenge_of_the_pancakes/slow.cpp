// Slow: iterative deepening over every sequence of prefix flips (exponential in the answer).
#include <bits/stdc++.h>
using namespace std;
static bool solve(string &s, int depth) {
    if (s.find('-') == string::npos) return true;
    if (depth == 0) return false;
    for (size_t k = 1; k <= s.size(); k++) {
        reverse(s.begin(), s.begin() + k);
        for (size_t i = 0; i < k; i++) s[i] = s[i] == '+' ? '-' : '+';
        bool ok = solve(s, depth - 1);
        for (size_t i = 0; i < k; i++) s[i] = s[i] == '+' ? '-' : '+';
        reverse(s.begin(), s.begin() + k);
        if (ok) return true;
    }
    return false;
}
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; cin >> s;
        int d = 0;
        while (!solve(s, d)) d++;
        cout << "Case #" << c << ": " << d << "\n";
    }
}
