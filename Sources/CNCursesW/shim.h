#ifndef CNCURSESW_SHIM_H
#define CNCURSESW_SHIM_H
#define _XOPEN_SOURCE_EXTENDED 1
#define NCURSES_WIDECHAR 1
#include <locale.h>
#include <wchar.h>
#include <ncursesw/curses.h>

/* Small helpers for what Swift cannot reach: macros and C globals (stdscr, COLORS,
   COLOR_PAIRS are mutable C globals Swift 6 would reject). Stateless on purpose:
   static state in a header would be duplicated per Swift frontend job. */

static inline WINDOW *tracetty_stdscr(void) { return stdscr; }
static inline int tracetty_colors(void) { return COLORS; }
static inline int tracetty_color_pairs(void) { return COLOR_PAIRS; }
static inline int tracetty_width(WINDOW *w) { return getmaxx(w); }
static inline int tracetty_height(WINDOW *w) { return getmaxy(w); }
static inline int tracetty_key_f0(void) { return KEY_F0; }

/* Attribute flags as TerminalUI.TextAttributes raw values:
   1 bold, 2 dim, 4 italic, 8 underline, 16 reverse. */
static inline attr_t tracetty_attrs(unsigned flags) {
    attr_t a = A_NORMAL;
    if (flags & 1u) a |= A_BOLD;
    if (flags & 2u) a |= A_DIM;
    if (flags & 4u) a |= A_ITALIC;
    if (flags & 8u) a |= A_UNDERLINE;
    if (flags & 16u) a |= A_REVERSE;
    return a;
}

/* Draws one cell: wch is a NUL-terminated wide string (a spacing char followed by up to
   CCHARW_MAX-1 non-spacing ones). The pair goes through setcchar's opts pointer so
   pairs above 32767 work (ncurses >= 6.1 extended colours). */
static inline int tracetty_put_cell(WINDOW *w, int y, int x, const wchar_t *wch, attr_t attrs, int pair) {
    cchar_t c;
    int p = pair;
    if (setcchar(&c, wch, attrs, 0, &p) == ERR) return ERR;
    return mvwadd_wch(w, y, x, &c);
}

static inline int tracetty_ccharw_max(void) { return CCHARW_MAX; }

/* libc wcwidth (locale-dependent: what curses itself will assume). */
extern int wcwidth(wchar_t c);
static inline int tracetty_wcwidth(wchar_t c) { return wcwidth(c); }

/* Mouse: which events we ask for, and how to read bstate. */
static inline mmask_t tracetty_mouse_wanted(void) {
    return BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON2_PRESSED | BUTTON2_RELEASED |
           BUTTON3_PRESSED | BUTTON3_RELEASED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
           | BUTTON5_PRESSED
#endif
        ;
}

/* 0 none, 1..3 press left/middle/right, 11..13 release, 4 wheel up, 5 wheel down. */
static inline int tracetty_mouse_kind(mmask_t s) {
    if (s & BUTTON4_PRESSED) return 4;
#ifdef BUTTON5_PRESSED
    if (s & BUTTON5_PRESSED) return 5;
#endif
    if (s & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED)) return 1;
    if (s & (BUTTON2_PRESSED | BUTTON2_CLICKED)) return 2;
    if (s & (BUTTON3_PRESSED | BUTTON3_CLICKED)) return 3;
    if (s & BUTTON1_RELEASED) return 11;
    if (s & BUTTON2_RELEASED) return 12;
    if (s & BUTTON3_RELEASED) return 13;
    return 0;
}
#endif
