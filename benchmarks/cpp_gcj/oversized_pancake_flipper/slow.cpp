// Slow: tries every subset of flip positions (2^(N-K+1)), the smallest that works wins.
#include <bits/stdc++.h>
using namespace std;
int main() {
    int t; cin >> t;
    for (int c = 1; c <= t; c++) {
        string s; int k; cin >> s >> k;
        int n = s.size(), m = n - k + 1, best = -1;
        for (unsigned long long mask = 0; mask < (1ULL << min(m, 62)); mask++) {
            string u = s;
            for (int i = 0; i < m; i++)
                if (mask >> i & 1) for (int j = i; j < i + k; j++) u[j] = u[j] == '+' ? '-' : '+';
            if (u.find('-') == string::npos) {
                int f = __builtin_popcountll(mask);
                if (best < 0 || f < best) best = f;
            }
        }
        cout << "Case #" << c << ": ";
        if (best >= 0) cout << best << "\n"; else cout << "IMPOSSIBLE\n";
    }
}
