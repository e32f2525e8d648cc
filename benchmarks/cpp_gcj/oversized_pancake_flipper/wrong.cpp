// Wrong: never says IMPOSSIBLE (prints the number of flips made anyway).
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
        cout << "Case #" << c << ": " << flips << "\n";
    }
}
