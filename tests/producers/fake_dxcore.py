"""A fake ``libdxcore.so``, compiled from C at test time (needs ``cc``).

It implements ``D3DKMTEnumAdapters3`` (unless built with ``enum3=False``),
``D3DKMTEnumAdapters2`` and ``D3DKMTQueryAdapterInfo`` with WSL's structures,
answering from the file named by ``$CDIKIT_FAKE_DXCORE``: one adapter per line,
``HANDLE WDDM_VERSION DRIVER_STORE_PATH``. The registry query answers as the real
one does: a first call reports the size (status BUFFER_OVERFLOW), a second call
with room for it gets the wide-character path.
"""

from __future__ import annotations

from pathlib import Path

from tests.producers.fakeroot import compile_shared

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

struct luid { unsigned int low; int high; };
struct ainfo { unsigned int h; struct luid l; unsigned int n; unsigned int b; };
struct enum2 { unsigned int num; struct ainfo *p; };
struct enum3 { unsigned long long filter; unsigned int num; struct ainfo *p; };
struct query { unsigned int h; int type; void *data; unsigned int size; };
struct reg {
    int qtype; unsigned int qflags; wchar_t name[260]; unsigned int vtype; unsigned int idx;
    unsigned int outsize; int status; union { unsigned long long q; wchar_t out; };
};

static int load(unsigned int *h, unsigned int *wddm, char paths[][256], int max) {
    const char *file = getenv("CDIKIT_FAKE_DXCORE");
    FILE *f = file ? fopen(file, "r") : NULL;
    int n = 0;
    if (!f) return 0;
    while (n < max && fscanf(f, "%u %u %255s", &h[n], &wddm[n], paths[n]) == 3) n++;
    fclose(f);
    return n;
}

static int enumerate(unsigned int *num, struct ainfo *p) {
    unsigned int h[16], w[16]; char paths[16][256];
    int n = load(h, w, paths, 16);
    if (p) for (int i = 0; i < n && i < (int)*num; i++) { memset(&p[i], 0, sizeof p[i]); p[i].h = h[i]; }
    *num = (unsigned int)n;
    return 0;
}

#ifdef WITH_ENUM3
int D3DKMTEnumAdapters3(struct enum3 *e) { return e->filter == 1 ? enumerate(&e->num, e->p) : 1; }
#endif
int D3DKMTEnumAdapters2(struct enum2 *e) { return enumerate(&e->num, e->p); }

int D3DKMTQueryAdapterInfo(struct query *q) {
    unsigned int h[16], w[16]; char paths[16][256];
    int n = load(h, w, paths, 16), i;
    for (i = 0; i < n && h[i] != q->h; i++) {}
    if (i == n) return 1;
    if (q->type == 13) { *(unsigned int *)q->data = w[i]; return 0; }
    if (q->type != 48 || q->size < sizeof(struct reg)) return 1;
    struct reg *r = q->data;
    if (r->qtype != 2) return 1;
    unsigned int need = (unsigned int)(strlen(paths[i]) * sizeof(wchar_t));
    if (q->size < sizeof(struct reg) + need) { r->outsize = need; r->status = 1; return 0; }
    mbstowcs(&r->out, paths[i], strlen(paths[i]));
    r->outsize = need; r->status = 0;
    return 0;
}
"""


def build(dest: Path, *, enum3: bool = True) -> Path | None:
    """Compile the fake to ``dest``; ``None`` without a C compiler."""
    return compile_shared(SOURCE, dest, *(["-DWITH_ENUM3"] if enum3 else []))
