// Code Jam 2009 1C "All Your Base": the smallest value the symbols can mean, in the smallest base.
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
        // the first symbol is 1, the second 0, then 2, 3, ...
        long long base = max<long long>(2, digit.size());
        unsigned long long value = 0;
        for (char ch : s) value = value * base + digit[ch];
        cout << "Case #" << c << ": " << value << "\n";
    }
}
