"""Pages of the browser file manager, one module per feature: the folder
listing (browse), the operations on items (upload, new folder, rename, move,
delete, download), Recently deleted (trash) and the tenant's activity.
``forms`` and ``display`` hold the input fields and the rows, crumbs and links
the pages share; ``access`` the tenant guard and the error page, which the
snapshot pages use too.

Every view validates its input, calls the store's services and selectors with
``request.tenant`` (there is no other way to name a tenant here), and renders.
A domain error rises out of the view, and ``portal.views.refusals.page_refusals``
turns it into a message or an inline error with the store's own wording;
something that does not exist in this tenant, including anything of another
tenant, answers 404 exactly alike.
"""
