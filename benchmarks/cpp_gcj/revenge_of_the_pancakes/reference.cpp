// Code Jam 2016 qualification "Revenge of the Pancakes": one flip per change of side, plus one
// when the bottom is blank side up.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; cin >> s;
        int flips = 0;
        for (size_t i = 1; i < s.size(); i++) flips += s[i] != s[i - 1];
        flips += s.back() == '-';
        cout << "Case #" << c << ": " << flips << "\n";
    }
}
