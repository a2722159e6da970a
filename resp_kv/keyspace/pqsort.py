"""Redis's ``pqsort.c``: Bentley and McIlroy's quicksort with three-way partitioning, which sorts
only the partitions that hold positions ``first``..``last`` (SORT ... LIMIT, a geo search with
COUNT). It is not stable: equal elements end where Redis's own run of it puts them, so this one
follows it step by step.
"""

from __future__ import annotations


def pqsort(v: list, cmp, first: int, last: int) -> None:
    """Sort ``v`` in place by ``cmp`` (negative, 0, positive) as far as positions ``first``..``last``."""
    _pqsort(v, 0, len(v), cmp, first, last)


def _med3(v: list, a: int, b: int, c: int, cmp) -> int:
    if cmp(v[a], v[b]) < 0:
        return b if cmp(v[b], v[c]) < 0 else (c if cmp(v[a], v[c]) < 0 else a)
    return b if cmp(v[b], v[c]) > 0 else (a if cmp(v[a], v[c]) < 0 else c)


def _vecswap(v: list, a: int, b: int, n: int) -> None:
    for k in range(n):
        v[a + k], v[b + k] = v[b + k], v[a + k]


def _pqsort(v: list, a: int, n: int, cmp, first: int, last: int) -> None:
    """Bentley & McIlroy's quicksort of v[a:a+n] as Redis's pqsort.c runs it: partitions that
    hold none of the positions first..last are left alone."""
    while True:
        if n < 7:  # insertion sort
            for m in range(a + 1, a + n):
                at = m
                while at > a and cmp(v[at - 1], v[at]) > 0:
                    v[at], v[at - 1] = v[at - 1], v[at]
                    at -= 1
            return
        pm = a + n // 2
        if n > 7:
            pl, pn = a, a + n - 1
            if n > 40:
                d = n // 8
                pl = _med3(v, pl, pl + d, pl + 2 * d, cmp)
                pm = _med3(v, pm - d, pm, pm + d, cmp)
                pn = _med3(v, pn - 2 * d, pn - d, pn, cmp)
            pm = _med3(v, pl, pm, pn, cmp)
        v[a], v[pm] = v[pm], v[a]
        pa = pb = a + 1
        pc = pd = a + n - 1
        while True:
            while pb <= pc:
                result = cmp(v[pb], v[a])
                if result > 0:
                    break
                if result == 0:
                    v[pa], v[pb] = v[pb], v[pa]
                    pa += 1
                pb += 1
            while pb <= pc:
                result = cmp(v[pc], v[a])
                if result < 0:
                    break
                if result == 0:
                    v[pc], v[pd] = v[pd], v[pc]
                    pd -= 1
                pc -= 1
            if pb > pc:
                break
            v[pb], v[pc] = v[pc], v[pb]
            pb += 1
            pc -= 1
        pn = a + n
        r = min(pa - a, pb - pa)
        _vecswap(v, a, pb - r, r)
        r = min(pd - pc, pn - pd - 1)
        _vecswap(v, pb, pn - r, r)
        r = pb - pa
        if r > 1 and _overlaps(a, a + r - 1, first, last):
            _pqsort(v, a, r, cmp, first, last)
        r = pd - pc
        if r <= 1:
            return
        a, n = pn - r, r
        if not _overlaps(a, a + r - 1, first, last):
            return


def _overlaps(lo: int, hi: int, first: int, last: int) -> bool:
    return not ((first < lo and last < lo) or (first > hi and last > hi))
