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

static char *slot(struct row *r, const char *key)
{
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->key[i], key))
            return r->val[i];
    if (r->n == ROW_FIELDS)
        return NULL;
    snprintf(r->key[r->n], sizeof r->key[0], "%s", key);
    return r->val[r->n++];
}

void row_set(struct row *r, const char *key, const char *fmt, ...)
{
    char *v = !strcmp(key, "note") ? r->note : slot(r, key);
    size_t len = v == r->note ? sizeof r->note : sizeof r->val[0];
    va_list ap;
    if (!v)
        return;
    va_start(ap, fmt);
    vsnprintf(v, len, fmt, ap);
    va_end(ap);
    /* A value is one word of the ROW line and one CSV field. */
    for (char *p = v; v != r->note && *p; p++)
        if (*p == ' ' || *p == ',')
            *p = '_';
}

void row_num(struct row *r, const char *key, double v)
{
    if (isnan(v))
        row_set(r, key, "%s", "");
    else
        row_set(r, key, "%.6g", v);
}

void row_note(struct row *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->note, sizeof r->note, fmt, ap);
    va_end(ap);
    for (char *p = r->note; *p; p++)
        if (*p == '\n' || *p == '"')
            *p = '\'';
}

const char *row_str(const struct row *r, const char *key)
{
    if (!strcmp(key, "note"))
        return r->note;
    for (int i = 0; i < r->n; i++)
        if (!strcmp(r->key[i], key))
            return r->val[i];
    return "";
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
    char buf[4096];
    const char *p = strstr(line, "ROW ");
    if (!p)
        return -1;
    snprintf(buf, sizeof buf, "%s", p + 4);
    for (char *w = buf; w && *w;) {
        char *eq = strchr(w, '=');
        if (!eq)
            break;
        *eq = '\0';
        if (!strcmp(w, "note")) { /* the rest of the line */
            eq[1 + strcspn(eq + 1, "\n")] = '\0';
            row_note(r, "%s", eq + 1);
            break;
        }
        char *next = strchr(eq + 1, ' ');
        if (next)
            *next++ = '\0';
        row_set(r, w, "%s", eq + 1);
        w = next;
    }
    return 0;
}

void csv_header(FILE *f, const char *const *cols)
{
    for (int i = 0; cols[i]; i++)
        fprintf(f, "%s%s", i ? "," : "", cols[i]);
    fprintf(f, ",note\n");
}

void csv_row(FILE *f, const char *const *cols, const struct row *r)
{
    for (int i = 0; cols[i]; i++)
        fprintf(f, "%s%s", i ? "," : "", row_str(r, cols[i]));
    fprintf(f, ",\"%s\"\n", r->note);
    fflush(f);
}

/* Split a CSV line into fields in place (quotes as csv_row writes them,
 * and doubled quotes inside them as older files have). */
static int split(char *p, char **field, int max)
{
    int n = 0;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p;
            field[n++] = w;
            while (*p && *p != '\n') {
                if (*p == '"' && p[1] != '"')
                    break;
                p += *p == '"'; /* a doubled quote stands for one */
                *w++ = *p++;
            }
            p += *p == '"';
            *w = '\0';
        } else {
            field[n++] = p;
            p += strcspn(p, ",\n");
        }
        if (*p != ',') {
            *p = '\0';
            break;
        }
        *p++ = '\0';
    }
    return n;
}

long csv_load(const char *path, struct row **rows)
{
    char line[4096], head[4096];
    char *key[ROW_FIELDS + 1], *val[ROW_FIELDS + 1];
    long n = 0, cap = 0;
    FILE *f = fopen(path, "r");
    *rows = NULL;
    if (!f || !fgets(head, sizeof head, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    int nk = split(head, key, ROW_FIELDS + 1);
    while (fgets(line, sizeof line, f)) {
        int nv = split(line, val, ROW_FIELDS + 1);
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            *rows = realloc(*rows, (size_t)cap * sizeof **rows);
            if (!*rows)
                break;
        }
        struct row *r = &(*rows)[n++];
        row_clear(r);
        for (int i = 0; i < nk && i < nv; i++)
            row_set(r, key[i], "%s", val[i]);
    }
    fclose(f);
    return *rows ? n : -1;
}
