// Crash: digits kept in a fixed array of 10 symbols; longer alphabets write past it.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; cin >> s;
        vector<char> seen;
        for (char ch : s) if (find(seen.begin(), seen.end(), ch) == seen.end()) seen.push_back(ch);
        array<int, 10> value_of{};
        for (size_t i = 0; i < seen.size(); i++) value_of.at(i) = i == 0 ? 1 : i == 1 ? 0 : i;
        long long base = max<long long>(2, seen.size());
        unsigned long long value = 0;
        for (char ch : s) value = value * base + value_of[find(seen.begin(), seen.end(), ch) - seen.begin()];
        cout << "Case #" << c << ": " << value << "\n";
    }
}
