// Code Jam 2017 qualification "Tidy Numbers": the largest number <= N with non-decreasing digits.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string n; cin >> n;
        for (size_t i = n.size() - 1; i > 0; i--)
            if (n[i - 1] > n[i]) {
                n[i - 1]--;
                for (size_t j = i; j < n.size(); j++) n[j] = '9';
            }
        size_t start = n.find_first_not_of('0');
        cout << "Case #" << c << ": " << n.substr(start) << "\n";
    }
}
