// Process titles: `ps` shows a process's argv area, so writing the title there renames the process.
// The area is argv's strings plus, when they follow contiguously, environ's; the environment strings
// are copied to the heap first and environ re-pointed at the copies.
#include <stdlib.h>
#include <string.h>

#include "CWorkermanShims.h"

extern char **environ;

static char *area_start = NULL;
static size_t area_size = 0;

int wm_set_process_title(int argc, char **argv, const char *title) {
    if (area_start == NULL) {
        if (argc <= 0 || argv == NULL || argv[0] == NULL) return 0;
        char *end = argv[0] + strlen(argv[0]) + 1;
        for (int i = 1; i < argc; i++) {
            if (argv[i] != end) break;
            end = argv[i] + strlen(argv[i]) + 1;
        }
        if (environ != NULL) {
            size_t count = 0;
            while (environ[count] != NULL) count++;
            char **copies = calloc(count + 1, sizeof(char *));
            if (copies != NULL) {
                int contiguous = 1;
                for (size_t i = 0; i < count; i++) {
                    if (contiguous && environ[i] == end) {
                        end = environ[i] + strlen(environ[i]) + 1;
                    } else {
                        contiguous = 0;
                    }
                    copies[i] = strdup(environ[i]);
                }
                environ = copies;  // the originals may now be overwritten
            }
        }
        area_start = argv[0];
        area_size = (size_t)(end - argv[0]);
        for (int i = 1; i < argc; i++) argv[i] = NULL;
    }
    if (area_size < 2) return 0;
    size_t length = strlen(title);
    if (length > area_size - 1) length = area_size - 1;
    memcpy(area_start, title, length);
    memset(area_start + length, 0, area_size - length);
    return (int)area_size;
}
