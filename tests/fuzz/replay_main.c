/* replay_main.c — runs a fuzz target over every file of a corpus directory, so each fuzzer
 * is also a plain regression test (and runs under ASan + UBSan in the sanitizer build). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return 1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return 1;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf || fread(buf, 1, n, f) != n) {
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            if (run_file(argv[i]))
                return 1;
            files++;
            continue;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
            if (run_file(path))
                return 1;
            files++;
        }
        closedir(d);
    }
    /* Garbage inputs that must never crash, whatever the corpus holds. */
    static const char *const junk[] = {"", "#", "# {", "\xff\xfe", "a;b;c", "a 1\nb x\n", "{}"};
    for (size_t k = 0; k < sizeof(junk) / sizeof(junk[0]); k++)
        LLVMFuzzerTestOneInput((const uint8_t *)junk[k], strlen(junk[k]));
    printf("replayed %d corpus files\n", files);
    return 0;
}
