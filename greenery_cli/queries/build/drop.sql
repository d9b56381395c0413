-- Make room for a model whose materialisation changed (a table becoming a view, say).
drop {{ kind }} if exists {{ relation }}
