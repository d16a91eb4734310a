#!/usr/bin/python3
"""Minimax coefficients for the polynomials in src/Rnn.Fast/Internals/SimdMath.cs.

Run with Debian's python3 (needs numpy and mpmath): /usr/bin/python3 tools/minimax/fit_activation_polynomials.py

Both fits are on the reduced argument r in [-ln2/2, ln2/2] left by the Cody-Waite reduction, and minimise the
*relative* error of the whole function, with the leading terms fixed exactly (so tiny r stays accurate):
  exp(r)   = 1 + r + r^2 Q(r)     (sigmoid uses exp(-s) = the same polynomial with odd coefficients negated)
  expm1(r) = r + r^2 Q(r)         (tanh uses -expm1(-2 rho), the same coefficients scaled by powers of two)
Q is found by the Remez exchange on a weighted error w(r) (Q(r) - h(r)), h and w computed in 50-digit mpmath.
The coefficients are then rounded to float32 and the rounded polynomial's relative error is reported in units
of 2^-24, i.e. in ulp of a float at the top of its binade (the worst case; at the bottom it is half that).
SimdMath uses: exp, Q of degree 5 (sigmoid); expm1, Q of degree 4 (tanh).
"""
import numpy as np
import mpmath as mp

mp.mp.dps = 50
LN2_HALF = float(mp.log(2) / 2) * (1 + 2e-7)  # a hair past ln2/2: the float reduction can land just outside


def target(kind, r):
    r = mp.mpf(r)
    if kind == "exp":
        f = mp.exp(r)
        h = (f - 1 - r) / r**2 if r != 0 else mp.mpf(1) / 2
        w = r**2 / f
    else:
        f = mp.expm1(r)
        h = (f - r) / r**2 if r != 0 else mp.mpf(1) / 2
        w = r**2 / f if r != 0 else mp.mpf(0)
    return float(h), float(w)


def remez(kind, degree, iterations=30):
    grid = np.linspace(-LN2_HALF, LN2_HALF, 20001)
    hw = np.array([target(kind, x) for x in grid])
    h, w = hw[:, 0], hw[:, 1]
    n = degree + 2
    # Chebyshev points as the first reference set.
    ref = np.sort(np.cos(np.pi * np.arange(n) / (n - 1)) * LN2_HALF)
    idx = np.array([np.argmin(np.abs(grid - x)) for x in ref])
    coef = None
    for _ in range(iterations):
        xs = grid[idx]
        a = np.zeros((n, n))
        for i, x in enumerate(xs):
            a[i, : degree + 1] = [x**k for k in range(degree + 1)]
            # w(x)(Q(x) - h(x)) = (-1)^i E; where w vanishes (r = 0) the condition is on the unweighted error.
            a[i, degree + 1] = (-1) ** i / w[idx[i]] if w[idx[i]] != 0 else 0.0
        sol = np.linalg.solve(a, h[idx])
        coef = sol[: degree + 1]
        err = w * (np.polyval(coef[::-1], grid) - h)
        # New reference: the extremum of each sign run of the error.
        new = []
        start = 0
        for i in range(1, len(grid) + 1):
            if i == len(grid) or np.sign(err[i]) != np.sign(err[start]):
                run = np.arange(start, i)
                new.append(run[np.argmax(np.abs(err[run]))])
                start = i
        new = np.array(new)
        while len(new) > n:  # drop the smallest extremum at either end until n remain
            new = new[1:] if abs(err[new[0]]) < abs(err[new[-1]]) else new[:-1]
        if len(new) < n:
            break
        idx = new
    return coef


def rounded_error(kind, q32):
    worst = 0.0
    for x in np.linspace(-LN2_HALF, LN2_HALF, 4001):
        r = mp.mpf(float(x))
        if r == 0:
            continue
        q = sum(mp.mpf(float(c)) * r**k for k, c in enumerate(q32))
        approx = (1 + r + r**2 * q) if kind == "exp" else (r + r**2 * q)
        exact = mp.exp(r) if kind == "exp" else mp.expm1(r)
        worst = max(worst, abs(float((approx - exact) / exact)))
    return worst / 2.0**-24  # ulp at the top of a binade


for kind, degrees in (("exp", (3, 4, 5)), ("expm1", (4, 5, 6))):
    for d in degrees:
        q = remez(kind, d)
        q32 = np.float32(q)
        print(f"{kind}: Q of degree {d} (whole polynomial degree {d + 2}); rounded-coefficient error "
              f"<= {rounded_error(kind, q32):.3f} ulp")
        for k, c in enumerate(q32):
            print(f"    q{k} = {float(c)!r:>26}f  // {np.float32(c).view(np.uint32):#010x}")
