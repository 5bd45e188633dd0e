"""A fake ``libnvidia-sandboxutils.so.1``, compiled from C at test time (needs ``cc``).

It implements the library's five calls with its ABI, answering from files in
the driver root it is initialised with, so the generator's ctypes code runs
exactly as against the real library:

* ``<root>/sandboxutils-fake/version``: the driver version (absent: NOT_SUPPORTED);
* ``<root>/sandboxutils-fake/init-error``: if present, ``nvSandboxUtilsInit`` fails;
* ``<root>/sandboxutils-fake/<UUID>``: one file per device, lines ``SUBTYPE FLAGS PATH``
  (``PATH`` relative to the root; absent: DEVICE_NOT_FOUND);
* ``nvSandboxUtilsGetFileContent`` answers with the link target (``readlink``).
"""

from __future__ import annotations

from pathlib import Path

from tests.producers.fakeroot import compile_shared

SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct { unsigned int version; int type; char value[256]; } init_input;
typedef struct file_info {
    struct file_info *next; int file_type; int sub_type; int module; int flags; char *path;
} file_info;
typedef struct { unsigned int version; int input_type; char input[256]; file_info *files; } gpu_res;

static char root[256];

static void at(char *out, size_t n, const char *rel) {
    snprintf(out, n, "%s/sandboxutils-fake/%s", root, rel);
}

int nvSandboxUtilsInit(init_input *in) {
    char p[1024];
    if (in->version != 1 || in->type != 1) return 3;
    snprintf(root, sizeof root, "%s", strcmp(in->value, "/") == 0 ? "" : in->value);
    at(p, sizeof p, "init-error");
    return access(p, F_OK) == 0 ? 2 : 0;
}

int nvSandboxUtilsShutdown(void) { return 0; }

int nvSandboxUtilsGetDriverVersion(char *version, unsigned int length) {
    char p[1024];
    at(p, sizeof p, "version");
    FILE *f = fopen(p, "r");
    if (!f) return 2;
    if (!fgets(version, (int)length, f)) { fclose(f); return 0xFFFF; }
    fclose(f);
    version[strcspn(version, "\n")] = 0;
    return 0;
}

int nvSandboxUtilsGetGpuResource(gpu_res *req) {
    char p[1024], rel[512];
    int sub, flags;
    if (req->version != 1) return 3;
    if (req->input_type != (strncmp(req->input, "MIG-", 4) == 0 ? 1 : 0)) return 3;
    at(p, sizeof p, req->input);
    FILE *f = fopen(p, "r");
    if (!f) return 8;
    file_info **tail = &req->files;
    *tail = NULL;
    while (fscanf(f, "%d %d %511s", &sub, &flags, rel) == 3) {
        file_info *n = calloc(1, sizeof *n);
        n->file_type = 0; n->sub_type = sub; n->flags = flags;
        n->path = malloc(strlen(root) + strlen(rel) + 1);
        strcpy(n->path, root); strcat(n->path, rel);
        *tail = n; tail = &n->next;
    }
    fclose(f);
    return 0;
}

int nvSandboxUtilsGetFileContent(char *path, char *content, unsigned int *size) {
    ssize_t n = readlink(path, content, *size - 1);
    if (n < 0) return 11;
    content[n] = 0;
    *size = (unsigned int)n;
    return 0;
}
"""


def build(dest: Path) -> Path | None:
    """Compile the fake to ``dest`` (a ``libnvidia-sandboxutils.so.1`` path); ``None`` without cc."""
    return compile_shared(SOURCE, dest)


def describe(root: Path, version: str | None, devices: dict[str, list[tuple[int, int, str]]]) -> None:
    """Write the fake's answers into ``root``."""
    d = root / "sandboxutils-fake"
    d.mkdir(parents=True, exist_ok=True)
    if version is not None:
        (d / "version").write_text(version + "\n", encoding="utf-8")
    for uuid, files in devices.items():
        (d / uuid).write_text("".join(f"{s} {f} {p}\n" for s, f, p in files), encoding="utf-8")
