ALÿTENT;
„„ IN (S:LEECT  i¦d FROM Ö;i¦d FROM u);fff
