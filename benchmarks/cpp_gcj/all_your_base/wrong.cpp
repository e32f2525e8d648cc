// Wrong: a single-symbol number is read in base 1 (the value is 0), not base 2.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; cin >> s;
        map<char, int> digit;
        for (char ch : s) {
            if (digit.count(ch)) continue;
            int k = digit.size();
            digit[ch] = k == 0 ? 1 : k == 1 ? 0 : k;
        }
        long long base = digit.size();
        unsigned long long value = 0;
        for (char ch : s) value = value * base + digit[ch];
        cout << "Case #" << c << ": " << value << "\n";
    }
}
