"""Civic crowdfunding: calls and campaigns (staff), money and time pledges (residents).

``calls`` sets up a funding call and locks its rules when pledging opens; ``campaigns`` adds the
projects, their cost lines and volunteer tasks; ``pledges`` records money pledges (idempotent,
with running totals for the live match estimate); ``tasks`` handles volunteer sign-ups.
"""
