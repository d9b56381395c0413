-- One row per session, with its funnel flags, for funnel and engagement questions.
select
    s.*,
    s.page_views > 0 as has_page_view,
    s.add_to_carts > 0 as has_add_to_cart,
    s.checkouts > 0 as has_checkout
from {{ ref('int_sessions') }} as s
