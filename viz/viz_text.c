/* viz_text.c - text for the view: printable ASCII rendered once into a glyph atlas with SDL2_ttf,
 * then drawn glyph by glyph (no font rendering per frame). */
#include "viz_internal.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <stdlib.h>
#include <string.h>

#define FIRST 32
#define LAST 126

struct viz__font {
    SDL_Renderer *rd;   /* borrowed */
    SDL_Texture *atlas; /* owned */
    SDL_Rect glyph[LAST - FIRST + 1];
    int advance[LAST - FIRST + 1];
    int height;
};

void viz__font_close(viz__font *f)
{
    if (!f)
        return;
    if (f->atlas)
        SDL_DestroyTexture(f->atlas);
    free(f);
}

viz__font *viz__font_open(SDL_Renderer *rd, const char *path, int px, cs_err *err)
{
    if (!TTF_WasInit() && TTF_Init() != 0) {
        cs_err_set(err, CS_EIO, NULL, 0, 0, "SDL_ttf: %s", TTF_GetError());
        return NULL;
    }
    TTF_Font *tf = TTF_OpenFont(path, px);
    if (!tf) {
        cs_err_set(err, CS_EIO, path, 0, 0, "cannot open the font: %s", TTF_GetError());
        return NULL;
    }
    viz__font *f = calloc(1, sizeof *f);
    SDL_Surface *sheet = NULL;
    if (!f)
        goto nomem;
    f->rd = rd;
    f->height = TTF_FontLineSkip(tf);
    int row_h = TTF_FontHeight(tf);
    /* One row per 16 glyphs; cells as wide as the widest advance. */
    int cell = 1;
    for (int c = FIRST; c <= LAST; c++) {
        int minx, maxx, miny, maxy, adv;
        if (TTF_GlyphMetrics(tf, (Uint16)c, &minx, &maxx, &miny, &maxy, &adv) == 0) {
            int w = maxx > adv ? maxx : adv;
            cell = w + 2 > cell ? w + 2 : cell;
        }
    }
    int cols = 16, rows = (LAST - FIRST + cols) / cols;
    sheet =
        SDL_CreateRGBSurfaceWithFormat(0, cols * cell, rows * row_h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (!sheet)
        goto nomem;
    SDL_FillRect(sheet, NULL, 0);
    for (int c = FIRST; c <= LAST; c++) {
        int i = c - FIRST;
        char s[2] = {(char)c, 0};
        int adv = 0;
        TTF_GlyphMetrics(tf, (Uint16)c, NULL, NULL, NULL, NULL, &adv);
        f->advance[i] = adv;
        SDL_Rect dst = {(i % cols) * cell, (i / cols) * row_h, 0, 0};
        SDL_Surface *g =
            c == ' ' ? NULL : TTF_RenderText_Blended(tf, s, (SDL_Color){255, 255, 255, 255});
        if (g) {
            SDL_SetSurfaceBlendMode(g, SDL_BLENDMODE_NONE);
            dst.w = g->w < cell ? g->w : cell;
            dst.h = g->h < row_h ? g->h : row_h;
            SDL_Rect src = {0, 0, dst.w, dst.h};
            SDL_BlitSurface(g, &src, sheet, &dst);
            SDL_FreeSurface(g);
        }
        f->glyph[i] = (SDL_Rect){(i % cols) * cell, (i / cols) * row_h, dst.w, dst.h};
    }
    f->atlas = SDL_CreateTextureFromSurface(rd, sheet);
    if (!f->atlas)
        goto nomem;
    SDL_SetTextureBlendMode(f->atlas, SDL_BLENDMODE_BLEND);
    SDL_FreeSurface(sheet);
    TTF_CloseFont(tf);
    return f;
nomem:
    cs_err_set(err, CS_ENOMEM, path, 0, 0, "cannot build the glyph atlas: %s", SDL_GetError());
    SDL_FreeSurface(sheet);
    viz__font_close(f);
    TTF_CloseFont(tf);
    return NULL;
}

int viz__font_height(const viz__font *f)
{
    return f ? f->height : 0;
}

int viz__text_width(const viz__font *f, const char *s)
{
    int w = 0;
    if (!f)
        return 0;
    for (; *s; s++) {
        unsigned c = (unsigned char)*s;
        w += f->advance[(c >= FIRST && c <= LAST ? c : '?') - FIRST];
    }
    return w;
}

int viz__text(viz__font *f, int x, int y, uint32_t argb, const char *s)
{
    if (!f)
        return x;
    SDL_SetTextureColorMod(f->atlas, (argb >> 16) & 255, (argb >> 8) & 255, argb & 255);
    SDL_SetTextureAlphaMod(f->atlas, (argb >> 24) & 255);
    for (; *s; s++) {
        unsigned c = (unsigned char)*s;
        int i = (int)(c >= FIRST && c <= LAST ? c : '?') - FIRST;
        if (f->glyph[i].w > 0) {
            SDL_Rect d = {x, y, f->glyph[i].w, f->glyph[i].h};
            SDL_RenderCopy(f->rd, f->atlas, &f->glyph[i], &d);
        }
        x += f->advance[i];
    }
    return x;
}
