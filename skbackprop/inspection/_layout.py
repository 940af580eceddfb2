"""Where NetworkDisplay puts things: which units of a wide layer it draws, where
each unit sits, and a spot for each gradient label that is clear of the other
labels, of the units and of every edge but its own (measured in display pixels
from the drawn artists)."""

import numpy as np

__all__ = ["MAX_UNITS", "boxes_meet", "free_spot", "inside", "layer_slots",
           "segment_meets_box"]

MAX_UNITS = 12
"""The most units a layer draws; a wider one draws its first and last few with an
ellipsis (and the count of those left out) between them."""

# where along its edge (from the unit it leaves) a gradient label is tried, in order
ALONG = (0.5, 0.35, 0.65, 0.25, 0.75, 0.42, 0.58, 0.3, 0.7, 0.2, 0.8)


def layer_slots(n_units, limit=MAX_UNITS):
    """``(shown, gap)``: the indices of the units a layer of ``n_units`` draws, and
    the slot of the ellipsis among them (None when every unit is drawn)."""
    if n_units <= limit:
        return np.arange(n_units), None
    head = limit // 2
    tail = limit - 1 - head
    return np.r_[np.arange(head), np.arange(n_units - tail, n_units)], head


def boxes_meet(a, b, pad=0.0):
    """Whether two display boxes ``(x0, y0, x1, y1)`` overlap, ``pad`` pixels apart."""
    return not (a[2] + pad <= b[0] or b[2] + pad <= a[0]
                or a[3] + pad <= b[1] or b[3] + pad <= a[1])


def inside(box, outer):
    """Whether ``box`` lies within ``outer`` (display boxes)."""
    return (box[0] >= outer[0] and box[1] >= outer[1]
            and box[2] <= outer[2] and box[3] <= outer[3])


def segment_meets_box(p, q, box):
    """Whether the segment from ``p`` to ``q`` crosses the box (Liang-Barsky)."""
    t0, t1 = 0.0, 1.0
    for start, change, lo, hi in ((p[0], q[0] - p[0], box[0], box[2]),
                                  (p[1], q[1] - p[1], box[1], box[3])):
        if change == 0:
            if not lo <= start <= hi:
                return False
            continue
        a, b = sorted(((lo - start) / change, (hi - start) / change))
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return False
    return True


def free_spot(p, q, measure, taken, edges, own, outer):
    """The first point along the edge ``p -> q`` (display pixels) where a label,
    whose box at a point ``measure(point)`` gives, meets none of the boxes
    ``taken``, none of the ``edges`` (``(p, q, half_width)``) but number ``own``,
    and stays within ``outer``; None if there is none."""
    p, q = np.asarray(p, float), np.asarray(q, float)
    for t in ALONG:
        point = p + t * (q - p)
        box = measure(point)
        if not inside(box, outer) or any(boxes_meet(box, other, 2.0) for other in taken):
            continue
        if any(segment_meets_box(a, b, _grown(box, half + 1.0))
               for k, (a, b, half) in enumerate(edges) if k != own):
            continue
        return point
    return None


def _grown(box, by):
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)
