META
key;value
description;A small approval vote whose ballots name a project twice, as 19 real Warsaw files do
country;Poland
unit;Testville
instance;2026
num_projects;4
num_votes;6
budget;100
vote_type;approval
rule;greedy
PROJECTS
project_id;cost;votes;name
1;60;3;Playground
2;50;4;Trees
3;30;2;Benches
4;20;1;Library books
VOTES
voter_id;vote
v1;1,2
v2;2,1,2
v3;2,3
v4;1,3,3,3
v5;2
v6;4
