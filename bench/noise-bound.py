"""How much true gain per GPU run any keep rule can reach on bench/noise.ts's plan while keeping at
most 5% of null changes, in the best case: the best's true value known exactly (no lucky bar) and
sigma known. Two looks: keep when the first run's gain z1 > u1, drop when z1 < l1, else a second
run and keep when the mean of the two gains > c (gains in sigma). A grid over (u1, l1, c); printed:
the best rules by gain per run (the runs of the baseline not counted, in the rule's favour).

    python3 bench/noise-bound.py

Compare with the classic rule's measured gain per run (bench:noise-sim: about 0.28 sigma).
"""
import math

Phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))
phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
# (true gain in sigma, share of the plan): bench/noise-plan.ts's KINDS, gains positive here.
KINDS = [(3, .06), (2, .07), (1, .07), (.5, .07), (0, .55), (-.5, .05), (-1, .05), (-2, .04), (-3, .04)]


def rule(u1, l1, c):
    """P(keep) and expected runs for each true gain mu."""
    out = {}
    for mu, _ in KINDS:
        n, h, s = 400, (u1 - l1) / 400, 0.0
        for i in range(n):  # second look: (z1 + z2) / 2 > c
            z = l1 + (i + .5) * h
            s += phi(z - mu) * (1 - Phi(2 * c - z - mu)) * h
        out[mu] = (1 - Phi(u1 - mu) + s, 1 + Phi(u1 - mu) - Phi(l1 - mu))
    return out


found = []
for u1 in [x / 4 for x in range(4, 16)]:
    for l1 in [x / 4 for x in range(-4, 8)]:
        if l1 >= u1:
            continue
        for c in [x / 8 for x in range(0, 16)]:
            o = rule(u1, l1, c)
            if o[0][0] > 0.05:
                continue
            gain = sum(s * mu * o[mu][0] for mu, s in KINDS)
            runs = sum(s * o[mu][1] for mu, s in KINDS)
            big = (.06 * o[3][0] + .07 * o[2][0]) / .13
            found.append((gain / runs, gain, runs, big, o[0][0], u1, l1, c))
found.sort(reverse=True)
print('| gain per run (sigma) | gain per experiment | runs per experiment | gains >= 2 sigma kept | nulls kept | u1 | l1 | c |')
print('|--:|--:|--:|--:|--:|--:|--:|--:|')
for f in found[:5]:
    print('| ' + ' | '.join(f'{x:.3f}' for x in f) + ' |')
one = sum(s * mu * (1 - Phi(1.645 - mu)) for mu, s in KINDS)
print(f'\none look, keep beyond 1.645 sigma (5% of nulls): {one:.3f} sigma per run')
