// Wrong: counts the blank-side-up runs instead of the changes of side.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; cin >> s;
        int runs = 0;
        for (size_t i = 0; i < s.size(); i++) runs += s[i] == '-' && (i == 0 || s[i - 1] == '+');
        cout << "Case #" << c << ": " << runs << "\n";
    }
}
