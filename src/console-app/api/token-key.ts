/** Where the bearer token lives: the tab's sessionStorage (gone when the tab closes, never in a cookie). */
export const TOKEN_KEY = "shoal.console.token";
