// Crash: the flipper may reach past the end of the row (reads and writes out of bounds).
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; int k; cin >> s >> k;
        vector<char> row(s.begin(), s.end());
        int flips = 0, n = s.size();
        for (int i = 0; i < n; i++)
            if (row[i] == '-') {
                for (int j = i; j < i + k; j++) row.at(j) = row.at(j) == '+' ? '-' : '+';
                flips++;
            }
        cout << "Case #" << c << ": " << flips << "\n";
    }
}
