// Wrong: one left-to-right pass; a decrement that breaks an earlier pair is not fixed (1000 -> 0999
// is right, but 332 -> 329).
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string n; cin >> n;
        for (size_t i = 1; i < n.size(); i++)
            if (n[i - 1] > n[i]) {
                n[i - 1]--;
                for (size_t j = i; j < n.size(); j++) n[j] = '9';
                break;
            }
        size_t start = n.find_first_not_of('0');
        cout << "Case #" << c << ": " << n.substr(start) << "\n";
    }
}
