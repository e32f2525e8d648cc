// Code Jam 2017 qualification "Oversized Pancake Flipper": flip greedily from the left.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; int k; cin >> s >> k;
        int flips = 0, n = s.size();
        for (int i = 0; i + k <= n; i++)
            if (s[i] == '-') {
                for (int j = i; j < i + k; j++) s[j] = s[j] == '+' ? '-' : '+';
                flips++;
            }
        bool ok = s.find('-') == string::npos;
        cout << "Case #" << c << ": ";
        if (ok) cout << flips << "\n"; else cout << "IMPOSSIBLE\n";
    }
}
