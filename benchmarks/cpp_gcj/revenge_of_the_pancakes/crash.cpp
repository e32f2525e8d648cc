// Crash: the stack is copied into a fixed buffer of 10 pancakes (the large set has up to 100).
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; cin >> s;
        array<char, 10> stack{};
        for (size_t i = 0; i < s.size(); i++) stack.at(i) = s[i];
        int flips = 0;
        for (size_t i = 1; i < s.size(); i++) flips += stack[i] != stack[i - 1];
        flips += stack[s.size() - 1] == '-';
        cout << "Case #" << c << ": " << flips << "\n";
    }
}
