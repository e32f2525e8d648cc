"""Two Sum: one pass with a hash map from value to its first position (O(n))."""

import sys


def main() -> None:
    data = sys.stdin.buffer.read().split()
    n, target = int(data[0]), int(data[1])
    first_at: dict[int, int] = {}
    for j in range(n):
        value = int(data[2 + j])
        i = first_at.get(target - value)
        if i is not None:
            print(i + 1, j + 1)
            return
        first_at.setdefault(value, j)


main()
