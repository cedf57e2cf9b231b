/* SPDX-License-Identifier: MIT */
/* Rows of named figures: set, read, print as a ROW line, and CSV files. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"

void row_clear(struct row *r)
{
    memset(r, 0, sizeof *r);
}

/* Set key to the formatted value, on one line and without the quotes
 * that end a CSV note or the commas that end any other field. */
static void vset(struct row *r, const char *key, const char *fmt, va_list ap)
{
    char *v = r->note;
    size_t len = sizeof r->note;
    if (strcmp(key, "note")) {
        int i = 0;
        while (i < r->n && strcmp(r->key[i], key))
            i++;
        if (i == ROW_FIELDS)
            return;
        r->n += i == r->n;
        snprintf(r->key[i], sizeof r->key[i], "%s", key);
        v = r->val[i];
        len = sizeof r->val[i];
    }
    vsnprintf(v, len, fmt, ap);
    for (char *p = v; *p; p++)
        if (*p == '\n' || *p == '"' || (v != r->note && *p == ','))
            *p = v == r->note ? '\'' : ';';
}

void row_set(struct row *r, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(r, key, fmt, ap);
    va_end(ap);
}

void row_num(struct row *r, const char *key, double v)
{
    row_set(r, key, isnan(v) ? "" : "%.6g", v);
}

const char *row_str(const struct row *r, const char *key)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->key[i], key))
            return r->val[i];
    return strcmp(key, "note") ? "" : r->note;
}

double row_get(const struct row *r, const char *key)
{
    const char *v = row_str(r, key);
    char *end;
    double d = strtod(v, &end);
    return end == v ? NAN : d;
}

void row_print(FILE *f, const struct row *r)
{
    fprintf(f, "ROW");
    for (int i = 0; i < r->n; i++)
        fprintf(f, " %s=%s", r->key[i], r->val[i]);
    fprintf(f, " note=%s\n", r->note);
    fflush(f);
}

int row_parse(const char *line, struct row *r)
{
    char buf[4096], *w = buf, *eq;
    const char *p = strstr(line, "ROW ");
    if (!p)
        return -1;
    snprintf(buf, sizeof buf, "%s", p + 4);
    buf[strcspn(buf, "\n")] = '\0';
    while (w && (eq = strchr(w, '='))) {
        char *next = strchr(eq, ' ');
        *eq = '\0';
        if (!strcmp(w, "note")) /* the rest of the line */
            next = NULL;
        else if (next)
            *next++ = '\0';
        row_set(r, w, "%s", eq + 1);
        w = next;
    }
    return 0;
}

void csv_header(FILE *f, const char *const *cols)
{
    for (int i = 0; cols[i]; i++)
        fprintf(f, "%s,", cols[i]);
    fprintf(f, "note\n");
}

void csv_row(FILE *f, const char *const *cols, const struct row *r)
{
    for (int i = 0; cols[i]; i++)
        fprintf(f, "%s,", row_str(r, cols[i]));
    fprintf(f, "\"%s\"\n", r->note);
    fflush(f);
}

/* Split a CSV line in place into at most max fields: plain ones, and
 * quoted ones in which a doubled quote stands for one. */
static int split(char *p, char **field, int max)
{
    int n = 0;
    for (char *w = p; n < max; p++) {
        int quoted = *p == '"';
        field[n++] = w = p += quoted;
        for (; *p && *p != '\n' && (quoted ? *p != '"' || p[1] == '"'
                                           : *p != ','); p++)
            *w++ = *p == '"' ? *++p : *p;
        p += quoted && *p == '"';
        int more = *p == ',';
        *w = '\0';
        if (!more)
            break;
    }
    return n;
}

long csv_load(const char *path, struct row **rows)
{
    char line[4096], head[4096], *key[ROW_FIELDS + 1], *val[ROW_FIELDS + 1];
    long n = 0;
    FILE *f = fopen(path, "r");
    int nk = f && fgets(head, sizeof head, f) ? split(head, key, ROW_FIELDS + 1)
                                              : 0;
    *rows = NULL;
    while (nk && fgets(line, sizeof line, f)) {
        int nv = split(line, val, ROW_FIELDS + 1);
        if (!(n & (n - 1)) && !(*rows = realloc(*rows, (size_t)(n ? 2 * n : 1) *
                                                           sizeof **rows)))
            break;
        row_clear(&(*rows)[n]);
        for (int i = 0; i < nk && i < nv; i++)
            row_set(&(*rows)[n], key[i], "%s", val[i]);
        n++;
    }
    if (f)
        fclose(f);
    return nk ? n : -1;
}
